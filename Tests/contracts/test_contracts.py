"""The job and result messages match their JSON Schemas in docs/schema/."""
import json

import jsonschema
import pytest

from conftest import run

FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


def validate(document, schema):
    # jsonschema skips "format": "date-time" silently when rfc3339-validator is missing.
    assert "date-time" in FORMAT_CHECKER.checkers, \
        "jsonschema cannot check date-time: pip install rfc3339-validator (scripts/setup.sh does)"
    jsonschema.Draft202012Validator(schema, format_checker=FORMAT_CHECKER).validate(document)


def test_the_date_time_format_is_checked(schemas):
    job = {"schema": "gradeline.job/1", "job_id": "x", "kiosk_id": "k", "submitted_at": "2026-02-30T07:00:00Z",
           "images": [{"side": "front", "content_type": "image/png", "data": "AAAA"}]}
    with pytest.raises(jsonschema.ValidationError, match="date-time"):
        validate(job, schemas["job"])


def test_producer_jobs_match_the_job_schema(binaries, schemas):
    _, producer = binaries
    out = run(producer, "job", "--side", "front=samples/phone-01-front.png",
              "--side", "back=samples/phone-01-back.png", "--job-id", "contract-1").stdout
    job = json.loads(out)
    validate(job, schemas["job"])
    assert [image["side"] for image in job["images"]] == ["front", "back"]


def test_producer_jobs_from_jpeg_files_say_image_jpeg_and_grade(binaries, schemas, tmp_path):
    worker, producer = binaries
    out = run(producer, "job", "--side", "front=Tests/Fixtures/jpeg/phone-02-front.jpg",
              "--side", "back=Tests/Fixtures/jpeg/phone-02-back.jpg", "--job-id", "contract-jpeg").stdout
    job = json.loads(out)
    validate(job, schemas["job"])
    assert [image["content_type"] for image in job["images"]] == ["image/jpeg", "image/jpeg"]
    path = tmp_path / "job.json"
    path.write_text(out)
    result = json.loads(run(worker, "grade", "--job", path).stdout)
    validate(result, schemas["result"])
    assert result["status"] == "graded" and result["grade"] == "D"


def test_a_png_sent_as_image_jpeg_is_a_failed_result_naming_the_mismatch(binaries, schemas, tmp_path):
    worker, producer = binaries
    job = json.loads(run(producer, "job", "--side", "front=samples/phone-01-front.png", "--job-id", "x").stdout)
    job["images"][0]["content_type"] = "image/jpeg"
    validate(job, schemas["job"])
    path = tmp_path / "job.json"
    path.write_text(json.dumps(job))
    result = json.loads(run(worker, "grade", "--job", path, check=False).stdout)
    validate(result, schemas["result"])
    assert result["status"] == "failed"
    assert result["error"]["code"] == "image.content_type_mismatch"
    assert result["error"]["message"] == ("front image: the content type is image/jpeg but the bytes are a PNG "
                                          "(they start with its signature)")


@pytest.mark.parametrize("trace", ["summary", "full"])
def test_graded_results_match_the_result_schema(binaries, schemas, trace):
    worker, _ = binaries
    result = json.loads(run(worker, "grade", "--side", "front=samples/phone-02-front.png",
                            "--side", "back=samples/phone-02-back.png", "--trace", trace).stdout)
    validate(result, schemas["result"])
    assert result["status"] == "graded"
    assert result["grade"] and result["grade_rule"]
    assert result["fingerprint"]["models"]["damage"]
    outputs = [o for entry in result["trace"] for o in entry["outputs"]]
    images = [o for o in outputs if o["kind"] in ("image", "mask")]
    assert images and all(("encoded" in o) == (trace == "full") for o in images)


def test_a_one_sided_job_is_rejected_with_its_reason(binaries, schemas):
    worker, _ = binaries
    result = json.loads(run(worker, "grade", "samples/phone-01-front.png").stdout)
    validate(result, schemas["result"])
    assert result["status"] == "rejected"
    assert result["reasons"] == [{"code": "missing_side", "side": "back",
                                  "detail": "the job has no back photo; the kiosk must take one"}]
    assert result["grade"] is None


def test_config_fingerprint_is_the_one_check_config_prints(binaries):
    worker, _ = binaries
    printed = run(worker, "check-config", "--skip-canaries").stdout.split("config sha256 ")[1].split()[0]
    result = json.loads(run(worker, "grade", "samples/phone-01-back.png").stdout)
    assert result["fingerprint"]["config_sha256"] == printed


def test_a_corrupt_photo_is_a_failed_result_naming_the_side(binaries, schemas, tmp_path):
    worker, _ = binaries
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    done = run(worker, "grade", "--side", "front=samples/phone-01-front.png", "--side", f"back={broken}",
               check=False)
    assert done.returncode == 1
    result = json.loads(done.stdout)
    validate(result, schemas["result"])
    assert result["status"] == "failed"
    assert result["error"]["stage"] == "decode/decode_image"
    assert result["error"]["message"].startswith("back image:")
    assert result["error"]["retriable"] is False


def test_a_bad_job_file_is_a_failed_result_naming_the_field(binaries, schemas, tmp_path):
    worker, _ = binaries
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"schema": "gradeline.job/1", "job_id": "x", "kiosk_id": "k",
                               "submitted_at": "2026-11-28T07:00:00Z",
                               "images": [{"side": "front", "content_type": "image/png", "data": "@@"}]}))
    done = run(worker, "grade", "--job", job, check=False)
    result = json.loads(done.stdout)
    validate(result, schemas["result"])
    assert result["error"]["code"] == "job.bad_base64"
    assert result["error"]["message"].startswith("images[0].data:")


def test_a_bad_config_exits_2_listing_every_problem(binaries, tmp_path):
    worker, _ = binaries
    config = tmp_path / "pipeline.yaml"
    config.write_text("main: [decode]\npipelines:\n  decode:\n    - decode_imag\n    - resize: {width: 0}\n")
    done = run(worker, "check-config", "--pipeline", config, check=False)
    assert done.returncode == 2
    assert "unknown function 'decode_imag'; did you mean 'decode_image'?" in done.stderr
    assert "missing param 'height'" in done.stderr
    assert f"{config}:4:7: pipeline 'decode', step 1" in done.stderr


def test_a_bad_amqp_url_exits_2_before_loading_the_pipeline_and_hides_the_password(binaries, tmp_path):
    worker, _ = binaries
    done = run(worker, "run", "--amqp-url", "guest:s3cret@localhost:5672/", "--pipeline", tmp_path / "absent.yaml",
               check=False)
    assert done.returncode == 2, done.stderr
    assert "amqp.url" in done.stderr and "is not an AMQP URL" in done.stderr
    assert "s3cret" not in done.stderr and "s3cret" not in done.stdout
    assert "absent.yaml" not in done.stderr  # the URL is checked before the pipeline is read

"""The peer's driver: publishes rounds of jobs to the peer's Celery workers and times them.

    PEER_BROKER_URL=amqp://... python3 bench/peer/drive.py FILES... [--jobs N] [--rounds R] [--json FILE]

It does what `gradeline-producer bench --fleet-only` does for Gradeline: one warm-up job, then
per round JOBS jobs made from FILES (the phones in turn, as gradeline.job/1 documents), all
published at once; a job's latency is from just before its publish to its result's arrival
(so it includes queueing), and jobs/s is JOBS over the time from the first publish to the last
result. p50 is the latency at index JOBS/2 of the sorted list and p99 at 0.99 x JOBS, as there.
Every result must be `graded`, with the canary's grade for its phone; else it exits 1.
"""
import argparse
import json
import pathlib
import statistics
import sys
import time
import uuid

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import jobs  # noqa: E402
from celery.result import ResultSet  # noqa: E402
from peer_celery import TASK, app  # noqa: E402


def run_round(templates, count, timeout):
    """(jobs/s, p50 ms, p99 ms, seconds spent publishing, problems, median ms per stage) of one round."""
    tag = f"peer-{uuid.uuid4().hex[:6]}"
    sent, phones, results = {}, {}, []
    start = time.perf_counter()
    for index in range(count):
        phone, template = templates[index % len(templates)]
        job = dict(template, job_id=f"{tag}-{index}")
        before = time.perf_counter()
        result = app.send_task(TASK, args=[job])
        sent[result.id], phones[result.id] = before, phone
        results.append(result)
    published = time.perf_counter() - start
    arrived, outcomes = {}, {}

    def on_result(task_id, value):
        arrived[task_id] = time.perf_counter()
        outcomes[task_id] = value

    ResultSet(results, app=app).join_native(callback=on_result, timeout=timeout)
    latencies = sorted((arrived[task] - sent[task]) * 1000 for task in sent)
    rate = count / (max(arrived.values()) - start)
    problems = []
    for task, outcome in outcomes.items():
        want = jobs.expected(phones[task])
        got = {key: outcome.get(key) for key in ("status", "grade", "grade_rule")}
        if got["status"] != "graded" or (want and got != want):
            problems.append(f"{phones[task]}: {got}, expected {want}; {outcome.get('error') or outcome.get('reasons')}")
    stages = {stage: statistics.median(outcome["cpu_ms"].get(stage, 0) for outcome in outcomes.values())
              for stage in next(iter(outcomes.values()))["cpu_ms"]}
    return rate, latencies[count // 2], latencies[min(count - 1, int(count * 0.99))], published, problems, stages


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", help="photo files, grouped into jobs by <phone>-<side>.png")
    parser.add_argument("--jobs", type=int, default=60, help="jobs per round")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for a round's results")
    parser.add_argument("--json", type=pathlib.Path, help="append one JSON line per round to this file")
    args = parser.parse_args()
    templates = jobs.from_files(args.files)
    run_round(templates, 1, args.timeout)   # warm-up, as gradeline-producer bench does
    failed = False
    for number in range(1, args.rounds + 1):
        rate, p50, p99, published, problems, stages = run_round(templates, args.jobs, args.timeout)
        for problem in problems[:5]:
            print(f"  unexpected result: {problem}")
        failed |= bool(problems)
        print(f"round {number}: peer {rate:.2f} jobs/s, latency p50 {p50:.0f} ms p99 {p99:.0f} ms "
              f"({args.jobs} jobs published in {published:.2f} s; "
              + (f"{len(problems)} unexpected results)" if problems else "every grade as expected)"), flush=True)
        # The pool process's CPU per stage, inside the task (not Celery's own work around it).
        print("  peer CPU per stage, median ms per job: " + ", ".join(f"{stage} {ms:.0f}" for stage, ms in stages.items()),
              flush=True)
        if args.json:
            with args.json.open("a") as out:
                out.write(json.dumps({"side": "peer", "jobs": args.jobs, "jobs_per_s": rate, "p50_ms": p50,
                                      "p99_ms": p99, "publish_s": published, "unexpected": len(problems),
                                      "stage_cpu_ms": stages}) + "\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

"""The peer's Celery task: one gradeline.job/1 in, one result dict out.

    PEER_BROKER_URL=amqp://... PYTHONPATH=bench/peer python3 -m celery -A tasks worker -c 2 -P prefork

Each pool process loads the pipeline (config, grade rules, the ONNX model with 1 intra-op
thread) once when it starts, as Gradeline's pipeline processes do; every job is then graded
from its own bytes.
"""
import os

from celery.signals import worker_process_init

from peer_celery import TASK, app

_pipeline = None


def pipeline():
    global _pipeline
    if _pipeline is None:
        from pipeline import ROOT, Pipeline
        _pipeline = Pipeline(os.environ.get("PEER_PIPELINE") or ROOT / "config" / "pipeline.yaml",
                             threads=int(os.environ.get("PEER_MODEL_THREADS", "1")))
    return _pipeline


@worker_process_init.connect
def load(**_):
    pipeline()


@app.task(name=TASK)
def grade(job):
    return pipeline().grade(job)

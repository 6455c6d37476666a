"""The peer's Celery app and its settings, shared by the worker (tasks.py) and the driver.

No heavy imports here: the driver only publishes and collects results.
"""
import os

from celery import Celery

QUEUE = "gradeline-peer.jobs"
TASK = "gradeline_peer.grade"

app = Celery("gradeline_peer",
             broker=os.environ.get("PEER_BROKER_URL", "amqp://guest:guest@127.0.0.1:5697//"),
             backend="rpc://")
app.conf.update(
    # The settings of issue 11: ack after the task ran (a worker that dies mid-job leaves it to
    # another, as Gradeline's worker does), and one message per process at a time.
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    # Celery's defaults, spelled out: JSON both ways, as Gradeline's messages are.
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_default_queue=QUEUE,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)

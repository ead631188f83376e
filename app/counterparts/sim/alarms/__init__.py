"""The simulator's alarms: sources, the manager (≤ 10000 active), and the Kafka producer.

- ``catalogue.py``: the kinds of alarm (priority, code, texts, rates) and the limits.
- ``manager.py``: :class:`AlarmManager` (pure) keeps every alarm that is not back to
  normal, numbers each change (``seq``), and hands it to an ``emit`` callback. It
  answers acknowledgements (a COMMAND ``ack_alarm`` naming the alarm id) and
  shelves, by the same ISA-18.2 rules as the HMI's list (``app.alarms.states``).
- ``sources.py``: :class:`AlarmSources` (pure, seeded) raises realistic alarms from
  the line at configured rates and clears them after a while; ``flood`` raises many
  at once. A condition about a device's state is a fault put on the world (the
  ``Plant``), and its alarm follows that state.
- ``kafka.py``: what the producer needs of Kafka (:class:`KafkaIO`), its librdkafka
  implementation, and the worker thread for the calls that wait on the broker.
- ``publisher.py``: :class:`AlarmPublisher` writes each change once, keyed by alarm
  id, to the topic of its day (``records.topic_for`` in the line's time zone), a full
  snapshot every ``snapshot_s``, an END record and a new day's snapshot at midnight.
  Every record carries the offset of the first part of the newest complete snapshot
  of its topic, learnt from the delivery reports.
- ``system.py``: :class:`AlarmSystem`, the three together as the server uses them.

Nothing here blocks the simulator's loop while it runs (``publisher.py`` says how).
"""

from app.counterparts.sim.alarms.catalogue import (
    KIND_BY_NAME,
    KINDS,
    MAX_ACTIVE,
    MAX_SHELVE_MIN,
    PROMOTION_SEQ_GAP,
    AlarmKind,
    AlarmRefused,
)
from app.counterparts.sim.alarms.kafka import (
    ConfluentKafka,
    DeliveryReport,
    ErrorReport,
    KafkaIO,
    Runner,
    Worker,
)
from app.counterparts.sim.alarms.manager import AlarmManager
from app.counterparts.sim.alarms.publisher import (
    PRECREATE_S,
    RETRY_CREATE_S,
    STALL_S,
    TOPIC_CHECK_S,
    AlarmPublisher,
    check_prefix,
)
from app.counterparts.sim.alarms.sources import (
    OTHER_SYSTEMS,
    PLANT_KINDS,
    AlarmSources,
    Plant,
    TrainsNow,
)
from app.counterparts.sim.alarms.system import AlarmSettings, AlarmSystem

__all__ = [
    "KINDS",
    "KIND_BY_NAME",
    "MAX_ACTIVE",
    "MAX_SHELVE_MIN",
    "OTHER_SYSTEMS",
    "PLANT_KINDS",
    "PRECREATE_S",
    "PROMOTION_SEQ_GAP",
    "RETRY_CREATE_S",
    "STALL_S",
    "TOPIC_CHECK_S",
    "AlarmKind",
    "AlarmManager",
    "AlarmPublisher",
    "AlarmRefused",
    "AlarmSettings",
    "AlarmSources",
    "AlarmSystem",
    "ConfluentKafka",
    "DeliveryReport",
    "ErrorReport",
    "KafkaIO",
    "Plant",
    "Runner",
    "TrainsNow",
    "Worker",
    "check_prefix",
]

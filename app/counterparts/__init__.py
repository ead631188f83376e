"""The other side: what the workstation talks to, shipped so the demo and the tests
have something real to talk to. The workstation's packages never import this one
(a contract in ``tests/unit/test_layering.py``); only the demo starts it.

- ``sim/``: the line simulator, one server of the redundant ATS server pair;
- ``iscs_program.py``: the reference ISCS program without a window (its window is
  ``ui/counterparts/iscs_window.py``);
- ``services.py``: child ``redis-server`` and Kafka-protocol broker processes;
- ``demo.py``: what ``dispatcher-hmi --demo`` starts beside the window.
"""

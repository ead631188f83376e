"""Domain model: line topology and live device state. Pure, stdlib only, no I/O."""

"""The other side's windows: the reference ISCS program the workstation launches."""

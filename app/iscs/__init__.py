"""The hand-off to the ISCS program: messages, the bounded outbox, the local channel."""

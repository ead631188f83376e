"""Alarms: the record format on Kafka, the ISA-18.2 model, the consumer."""

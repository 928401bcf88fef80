"""IoT ingest: MQTT consumer, payload adapters, readings storage, occupancy inference, detection rules."""

"""What the loopback fakes (WeChat, WeChat Pay, SMS, the desk) share."""

#: ``serve_forever`` keyword arguments for a fake's thread. ``shutdown()`` waits for the loop's next poll, 0.5 s
#: by default, and nearly every test stops a fake in its teardown: a short poll keeps that wait out of the suite.
POLL = {"poll_interval": 0.02}

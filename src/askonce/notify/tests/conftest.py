from askonce.notify.tests.receiver import _running_receiver, receiver  # noqa: F401 - fixtures

"""The outbox and its senders: the one way mail leaves."""

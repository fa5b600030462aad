"""Days of action, hosted events, RSVPs, calendars."""

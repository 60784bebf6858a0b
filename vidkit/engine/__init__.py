"""Training machinery shared by every method: devices, distribution, schedules, the train loop."""

"""Built-in notification channels: the desktop, and Apprise for everything else."""

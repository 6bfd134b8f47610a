"""Monthly public notices (一月一公示): frozen snapshots, objections, and closing the month."""

"""Security patrols (治安巡逻): teams per village cluster, one auxiliary police officer per village, logs and incidents."""

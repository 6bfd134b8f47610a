"""The service catalogue (服务清单): what residents may order, with default deadlines."""

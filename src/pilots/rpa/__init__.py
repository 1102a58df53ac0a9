"""RPA trial measurement: task catalog, bot run logs, hours reduced, next year's candidates."""

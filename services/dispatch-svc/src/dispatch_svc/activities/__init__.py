"""Countryside activities (三下乡): monthly culture, science & technology and health activities with attendance."""

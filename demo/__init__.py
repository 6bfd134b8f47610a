"""The demo town: Yuwang (禹王镇, 夏县) built through the gateway's public API, deterministic per seed."""

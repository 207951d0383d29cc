"""Chỉ Tiêu: monitoring of Resolution 57-NQ/TW provincial indicator targets."""

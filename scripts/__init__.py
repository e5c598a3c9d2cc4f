"""Command-line helpers of the book (not installed with lib); scripts/browser.py is shared with the tests."""

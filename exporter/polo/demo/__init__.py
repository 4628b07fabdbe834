"""The demo: a simulated AWS estate that Polo can sweep without an AWS account."""

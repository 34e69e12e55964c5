"""The VM lab's host side: guests under QEMU, host processes and the scenarios."""

#!/usr/bin/env python
"""Django's command-line utility for Visionary Art."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visionary.settings.embedded")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # transformers warns at import that torchvision is absent; nothing here needs it.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

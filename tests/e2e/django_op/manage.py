#!/usr/bin/env python3
"""A minimal OpenID provider on django-oauth-toolkit, for Porteiro's end-to-end tests."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "op.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)

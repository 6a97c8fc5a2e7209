"""The `askonce` command: Django's management commands, with AskOnce's own in front.

`askonce serve`, `askonce worker`, `askonce demo`, `askonce token create --email E`,
`askonce user create ...`, and every Django command (`askonce migrate`, `askonce shell`, ...).
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "askonce.config.settings")
    from django.core.management import execute_from_command_line

    arguments = list(sys.argv if argv is None else ["askonce", *argv])
    arguments[0] = "askonce"
    execute_from_command_line(arguments)


if __name__ == "__main__":
    main()

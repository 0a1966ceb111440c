"""Entry point: `messaging-operator` runs kopf with this package's handlers."""

import sys


def main() -> None:
    import kopf.cli

    sys.argv = ["kopf", "run", "--all-namespaces", "-m", "messaging_operator.handlers", *sys.argv[1:]]
    kopf.cli.main()


if __name__ == "__main__":
    main()

"""`python -m cli`: the `casework` program, as `casework run` starts its worker and API."""

from cli import main

main()

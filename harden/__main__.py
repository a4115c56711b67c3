from harden.cli import main

main()

from mindkb.cli import main

main()

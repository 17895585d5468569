from secprio.cli import main

main()

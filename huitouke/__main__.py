from huitouke.cli import main

main()

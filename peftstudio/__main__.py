from peftstudio.cli import main

raise SystemExit(main())

from polo.cli import main

raise SystemExit(main())

from faceswap_parts.cli import main

raise SystemExit(main())

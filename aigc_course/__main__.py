import sys

from aigc_course.cli import main

sys.exit(main())

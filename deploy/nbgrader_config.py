# nbgrader's system-wide configuration in the hub image (deploy/Dockerfile puts it in
# /etc/jupyter). Every server uses the exchange on the shared volume; an instructor's server
# uses their copy of the course (deploy/start-course) as the course root, whose own
# nbgrader_config.py then configures the course and reads the same NBGRADER_EXCHANGE_ROOT.
import os

c = get_config()  # noqa: F821 (provided by traitlets)
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
if os.environ.get("COURSE_ROLE") == "instructor":
    c.CourseDirectory.root = os.environ.get("COURSE_COPY", os.path.expanduser("~/attention-by-hand"))

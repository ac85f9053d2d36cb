"""The WSGI application gunicorn serves (``gunicorn tecken.wsgi``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tecken.settings")
application = get_wsgi_application()

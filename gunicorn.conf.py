"""gunicorn settings for 科技红娘 CRM:  gunicorn -c gunicorn.conf.py 'crm.wsgi:app'

Several workers, each with a few threads; the app is loaded once in the master (`preload_app`)
so jieba and the matching index are shared by the workers from the start. Workers keep no
state of their own: sessions, login throttling and index versions live in the database.
Run `crm check --deploy` first: it refuses SQLite with more than one worker.
"""

import os

import gunicorn

bind = os.environ.get("CRM_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("CRM_WORKERS", "1"))
worker_class = "gthread"
threads = int(os.environ.get("CRM_THREADS", "4"))
preload_app = True
timeout = 120  # a 100k-row import through the web takes ~40 s; matching batches run apart
graceful_timeout = 30
keepalive = 5
max_requests = 2000  # recycle workers now and then, staggered
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
forwarded_allow_ips = os.environ.get("CRM_FORWARDED_ALLOW_IPS", "127.0.0.1")

gunicorn.SERVER = "crm"  # the Server header names no software version

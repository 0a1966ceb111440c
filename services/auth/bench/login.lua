-- POST /api/v1/auth/login with the benchmark user's credentials (set by bench_login_me.py).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_LOGIN_BODY")

"""`messaging-users` serves the app with uvicorn on its default port."""

import os

import uvicorn

from users_service import DEFAULT_PORT


def main() -> None:
    uvicorn.run(
        "users_service.main:app",
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", DEFAULT_PORT)),
    )


if __name__ == "__main__":
    main()

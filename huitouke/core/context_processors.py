from django.http import HttpRequest


def shop(request: HttpRequest) -> dict:
    return {"current_shop": getattr(request, "shop", None), "current_staff": getattr(request, "staff", None)}

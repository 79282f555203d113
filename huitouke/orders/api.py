from ninja import Router

orders_router = Router(tags=["orders"])
products_router = Router(tags=["products"])

"""Pages of recognition under /o/<org>/recognition/."""

app_name = "recognition"
urlpatterns: list = []

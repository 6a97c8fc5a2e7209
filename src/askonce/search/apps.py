from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "askonce.search"
    label = "search"
    verbose_name = "Search"

// RouterService

"""The HTTP edge shared by every resource: authentication, the version header, errors."""

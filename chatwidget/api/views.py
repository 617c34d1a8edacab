from django.views import View


class AttachmentDownloadView(View):
    pass

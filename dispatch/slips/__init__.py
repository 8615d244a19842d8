"""Dispatch slips (服务派工单): the slip's data, the PDF, counting prints, and the API that serves them.

data       SlipData and the voucher hook (what the slip prints, detached from the database)
documents  the slip as a PDF through the engine in dispatch/core/pdf.py
services   counting prints (the slip's and the signed voucher's apart), choosing whose slips a print covers
api        GET /api/v1/visits/{id}/slip.pdf and GET /api/v1/slips.pdf (reads, never counted); POST
           /api/v1/visits/{id}/slip/prints and POST /api/v1/slips/prints (a print, counted)
"""

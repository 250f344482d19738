extension S3Client {
    /// Uploads a large body in parts: create, upload each part, complete; abort on failure so no
    /// orphaned parts are billed.
    func multipartPut(key: String, body: [UInt8], contentType: String) async throws(ObjectStorageError) {
        let created = try await send(
            "POST", key: key, query: [("uploads", "")], headers: [("Content-Type", contentType)],
            operation: "start multipart upload \(key)"
        )
        guard let uploadId = XMLScan.values(of: "UploadId", in: String(decoding: created.body, as: UTF8.self)).first else {
            throw ObjectStorageError(.rejected, "start multipart upload \(key): no UploadId in the answer")
        }
        do throws(ObjectStorageError) {
            var etags: [String] = []
            var start = 0
            var number = 1
            while start < body.count {
                let end = min(start + configuration.partSize, body.count)
                let part = try await send(
                    "PUT", key: key, query: [("partNumber", String(number)), ("uploadId", uploadId)],
                    body: Array(body[start..<end]), operation: "upload part \(number) of \(key)"
                )
                guard let etag = part.headers.first(name: "ETag") else {
                    throw ObjectStorageError(.rejected, "upload part \(number) of \(key): no ETag in the answer")
                }
                etags.append(etag)
                start = end
                number += 1
            }
            var document = "<CompleteMultipartUpload>"
            for (index, etag) in etags.enumerated() {
                document += "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(XMLScan.escape(etag))</ETag></Part>"
            }
            document += "</CompleteMultipartUpload>"
            let completed = try await send(
                "POST", key: key, query: [("uploadId", uploadId)], body: Array(document.utf8),
                headers: [("Content-Type", "application/xml")], operation: "complete multipart upload \(key)"
            )
            // S3 may answer 200 with an error document when completion fails late.
            let answer = String(decoding: completed.body, as: UTF8.self)
            if answer.contains("<Error>") {
                throw ObjectStorageError(.unavailable, "complete multipart upload \(key): \(XMLScan.values(of: "Code", in: answer).first ?? "error")")
            }
        } catch {
            _ = try? await send("DELETE", key: key, query: [("uploadId", uploadId)], operation: "abort multipart upload \(key)")
            throw error
        }
    }
}
